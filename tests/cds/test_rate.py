"""The per-caller token bucket for CDS feedback, on an injected clock (no sleeping)."""

from infobutton.cds.rate import RateLimiter

from ..conftest import Clock


def test_a_burst_of_rate_then_one_a_refill_period():
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)  # 6 a minute: one every 10 s
    assert [limiter.take("ehr") for _ in range(6)] == [0.0] * 6
    wait = limiter.take("ehr")
    assert 9.9 < wait <= 10.0
    assert limiter.take("other-ehr") == 0.0  # per caller
    clock.now += 10
    assert limiter.take("ehr") == 0.0 and limiter.take("ehr") > 0


def test_the_number_of_buckets_is_bounded():
    limiter = RateLimiter(1, max_keys=3, clock=Clock())
    for key in "abcdef":
        limiter.take(key)
    assert len(limiter._buckets) == 3
