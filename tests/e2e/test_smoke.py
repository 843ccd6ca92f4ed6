def test_init_add_show(cli):
    cli.ok("init", "--name", "Me", "--at", "30 days ago")
    cli.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "10", "--at", "20 days ago")
    data = cli.ok("show", "--json").json()
    assert [e["name"] for e in data["exercises"]] == ["Bridge"]
    assert cli.ok("show", "--as-of", "25 days ago", "--json").json()["exercises"] == []
