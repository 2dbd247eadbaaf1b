"""The Python tests' shared harness: a node's output drained by threads, the
temporary directory a test body runs in (its leftover processes killed and
the directory removed on the way out, also on failure), /metrics parsed.

Imported by the scripts in tests/node (their own directory is on sys.path)
and by tests/cluster/test_replica.py (which puts tests/node on sys.path).
"""
import shutil
import signal
import tempfile
import threading


def log_lines(f, log, keep=None):
    """Append each line of f (right-stripped) to log from a daemon thread,
    keeping only the last keep lines when keep is given."""
    def drain():
        for ln in f:
            log.append(ln.rstrip())
            if keep is not None:
                del log[:-keep]
    threading.Thread(target=drain, daemon=True).start()


def discard(f):
    """Read f to its end from a daemon thread (a node never blocks on a full
    pipe)."""
    threading.Thread(target=f.read, daemon=True).start()


def reap(procs, cont=False):
    """Kill and wait for each process in procs still running; with cont, send
    SIGCONT first (a SIGSTOPped process)."""
    for p in procs:
        if p.poll() is None:
            if cont:
                try:
                    p.send_signal(signal.SIGCONT)
                except OSError:
                    pass
            p.kill()
            p.wait()


def in_tmp(prefix, body, procs, cont=False):
    """Run body(tmp) in a new temporary directory; then kill what is left of
    procs (reap) and remove the directory, whether body passed or not."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        body(tmp)
    finally:
        reap(procs, cont)
        shutil.rmtree(tmp, ignore_errors=True)


def parse_metrics(text):
    """The samples of a Prometheus text page (/metrics) as {name: float};
    a labelled sample's name keeps its labels."""
    m = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            m[k] = float(v)
    return m
