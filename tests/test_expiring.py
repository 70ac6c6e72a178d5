from infobutton.expiring import ExpiringMap


def test_a_value_is_kept_until_it_expires():
    entries: ExpiringMap[str, int] = ExpiringMap(10)
    entries.put("a", 1, expires=5.0, now=0.0)
    assert entries.get("a", 4.9) == 1
    assert entries.get("a", 5.0) is None and entries.get("b", 0.0) is None


def test_past_maxsize_the_oldest_put_goes_first_and_a_put_again_is_newest():
    entries: ExpiringMap[str, int] = ExpiringMap(2)
    entries.put("a", 1, 100.0, 0.0)
    entries.put("b", 2, 100.0, 0.0)
    entries.put("a", 3, 100.0, 0.0)  # replaced: now the newest
    entries.put("c", 4, 100.0, 0.0)
    assert list(entries) == ["a", "c"] and entries.get("a", 0.0) == 3


def test_expired_entries_at_the_front_are_dropped_by_a_put():
    entries: ExpiringMap[str, int] = ExpiringMap(10)
    for n, key in enumerate("abc"):
        entries.put(key, n, expires=10.0 + n, now=0.0)
    entries.put("d", 9, expires=30.0, now=11.0)
    assert list(entries) == ["c", "d"]


def test_the_byte_bound_counts_sizes_and_clear_empties():
    entries: ExpiringMap[str, int] = ExpiringMap(10, max_bytes=100)
    entries.put("a", 1, 10.0, 0.0, size=60)
    entries.put("a", 2, 10.0, 0.0, size=40)  # the old size is given back
    entries.put("b", 3, 10.0, 0.0, size=50)
    assert list(entries) == ["a", "b"] and entries.bytes == 90
    entries.put("c", 4, 10.0, 0.0, size=30)
    assert list(entries) == ["b", "c"] and entries.bytes == 80
    entries.clear()
    assert len(entries) == 0 and entries.bytes == 0
