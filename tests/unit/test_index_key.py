"""The index's compact time keys sort like the instants they name and give them back exactly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from domain.timeline import KEY_WIDTH, index_key, key_time

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9998, 12, 31),
                       timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-11)),
                                                  timezone(timedelta(hours=5, minutes=45))]))


@given(moments, moments)
def test_keys_sort_like_instants(a, b):
    ka, kb = index_key(a), index_key(b)
    assert len(ka) == len(kb) == KEY_WIDTH
    assert (ka < kb) == (a < b) and (ka == kb) == (a == b)


@given(moments)
def test_a_key_names_its_instant(moment):
    assert key_time(index_key(moment)) == moment


def test_instants_before_1900_share_the_first_key():
    assert index_key(datetime(1800, 1, 1, tzinfo=timezone.utc)) == "0" * KEY_WIDTH
