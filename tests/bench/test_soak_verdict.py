"""bench/soak's memory verdict: a warm-up climb that levels off passes once the warm-up covers it
(default: half the run), steady growth fails, and a service left out of --judge never fails it.
The series is the collector and pethistory of a real 12-minute soak (bench/README.md)."""
from labbench import soak

# (t in s, collector MiB, pethistory MiB): the 12-minute soak under Locust, 5 users, of bench/README.md
MEASURED = [(0, 24.8, 93.3), (33, 27.3, 93.9), (65, 29.6, 94.1), (98, 29.8, 94.0), (130, 30.0, 94.2),
            (163, 32.8, 94.5), (195, 34.7, 94.6), (228, 35.2, 94.1), (260, 34.8, 94.5), (293, 34.9, 94.7),
            (325, 35.1, 94.4), (358, 35.2, 94.5), (391, 35.5, 94.5), (423, 35.6, 94.6), (456, 35.3, 94.7),
            (488, 35.4, 94.7), (521, 35.6, 94.5), (553, 35.4, 94.7), (586, 35.2, 94.7), (618, 35.4, 94.3),
            (651, 35.5, 94.7), (683, 35.2, 94.6), (716, 35.3, 94.6), (723, 35.4, 94.5)]
SAMPLES = [{"t": t, "collector": c, "pethistory": p} for t, c, p in MEASURED]
BOTH = ["pethistory", "collector"]


def test_a_climb_that_levels_off_passes_from_half_the_run_not_from_one_minute():
    half = soak.memory_verdict(SAMPLES, 723 / 2, BOTH, 10)
    assert half["collector"]["ok"] and half["pethistory"]["ok"]
    assert abs(half["collector"]["change_pct"]) < 1
    early = soak.memory_verdict(SAMPLES, 60, BOTH, 10)
    assert not early["collector"]["ok"] and early["collector"]["change_pct"] > 15


def test_steady_growth_fails_whatever_the_warm_up():
    leaking = [{**s, "pethistory": 90 + s["t"] / 30} for s in SAMPLES]  # +2 MiB a minute
    for warmup in (60, 723 / 2):
        assert not soak.memory_verdict(leaking, warmup, BOTH, 10)["pethistory"]["ok"]


def test_a_service_left_out_of_judge_is_reported_but_never_fails():
    verdict = soak.memory_verdict(SAMPLES, 60, ["pethistory"], 10)
    assert verdict["collector"]["judged"] is False and verdict["collector"]["ok"]
    assert verdict["collector"]["change_pct"] > 15


# (t in s, moto MiB): the emulated backend's emulator in a 30-minute soak under Locust, 5 users
# (bench/README.md): it fills its trace retention in about five minutes, then stays flat.
EMULATOR = [(0, 84.4), (130, 97.5), (260, 109.5), (391, 111.5), (521, 113.1), (651, 113.3), (781, 113.1),
            (911, 113.2), (1042, 113.4), (1172, 113.1), (1302, 113.1), (1432, 112.7), (1561, 112.8),
            (1692, 112.7), (1803, 112.7)]


def test_the_emulator_is_judged_when_it_was_sampled():
    samples = [{"t": t, "collector": 37.0, "pethistory": 62.0, "moto": m} for t, m in EMULATOR]
    flat = soak.memory_verdict(samples, 1803 / 2, BOTH + ["moto"], 10)
    assert flat["moto"]["judged"] and flat["moto"]["ok"] and abs(flat["moto"]["change_pct"]) < 1
    leaking = [{**s, "moto": 84 + s["t"] / 10} for s in samples]   # moto's tracker kept every segment
    assert not soak.memory_verdict(leaking, 1803 / 2, BOTH + ["moto"], 10)["moto"]["ok"]
    assert "moto" not in soak.memory_verdict(SAMPLES, 60, BOTH, 10)   # local backend: no emulator
