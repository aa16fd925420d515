"""Every collection's pause, for the CPython versions of the pause workloads
(W5, W10): the counterpart of bench/pauses.h.

Pauses(...).start() and .stop() are called from a gc.callbacks function at
"start" and "stop"; each pause's start (seconds since the Pauses was made)
and length go into two array.array('d') allocated up front, so that
measuring creates no container the collector tracks (time.perf_counter's
float is the only object made).  report() prints @pauses, @gc_s,
@pause_p50_s, @pause_p99_s (nearest rank, as pauses.h), @pause_max_s and
@pause_timeline (the TIMELINE_POINTS longest pauses as start:length pairs,
in time order).
"""
import array
import sys
import time

CAP = 1 << 16  # W5 at 20 M: ~28,600 collections; 1 MiB of arrays
TIMELINE_POINTS = 2000


class Pauses:
    def __init__(self, cap=CAP):
        self.clock = time.perf_counter
        self.at = array.array("d", [0.0]) * cap
        self.len = array.array("d", [0.0]) * cap
        self.cap = cap
        self.n = 0
        self.started = -1.0
        self.t0 = self.clock()

    def start(self):
        self.started = self.clock()

    def stop(self):
        now = self.clock()
        if self.started < 0:
            return
        n = self.n
        if n < self.cap:
            self.at[n] = self.started - self.t0
            self.len[n] = now - self.started
        self.n = n + 1
        self.started = -1.0

    def callback(self, phase, info):
        """A gc.callbacks function that only times."""
        if phase == "start":
            self.start()
        else:
            self.stop()

    def total(self):
        return sum(self.len[:self.n])

    def report(self):
        n = self.n
        if n > self.cap:
            sys.exit("pauses: more collections than the capacity")
        lens = self.len[:n]
        s = sorted(lens)

        def rank(q):
            return s[(n * q + 99) // 100 - 1] if n else 0.0
        print("@pauses %d" % n)
        print("@gc_s %.9g" % sum(lens))
        print("@pause_p50_s %.9g" % rank(50))
        print("@pause_p99_s %.9g" % rank(99))
        print("@pause_max_s %.9g" % (s[-1] if n else 0.0))
        keep = min(n, TIMELINE_POINTS)
        cut = s[n - keep] if keep else 0.0
        equal_left = keep - sum(1 for d in s[n - keep:] if d > cut)
        pts = []
        for i in range(n):
            d = lens[i]
            if d > cut or (d == cut and equal_left > 0):
                if d == cut:
                    equal_left -= 1
                pts.append("%.7g:%.6g" % (self.at[i], d))
        print("@pause_timeline " + ",".join(pts))
