#!/usr/bin/env python3
"""Test of tools/check-layers.py: a tree with one violating include per rule is refused, naming each
file, and a tree that follows the rules passes. Usage: check_layers_test.py PATH/TO/check-layers.py"""
import os
import subprocess
import sys
import tempfile

VIOLATIONS = {
    'gst-plugins/streambus/x.c': '#include "common/log.h"',
    'src/common/a.h': '#include "server/control/client.h"',
    'src/fanout/b.cpp': '#include "pipelines/stream_bus.h"',
    'src/pipelines/c.cpp': '#include <libsoup/soup.h>',
    'src/pipelines/d.cpp': '#include "server/config/config.h"',
    'src/server/control/e.cpp': '#include "server/protocols/rtmp/rtmp_server.h"',
    'src/server/protocols/rtmp/f.cpp': '#include "server/protocols/srt/srt_server.h"',
    'src/server/protocols/rtmp/chunk.cpp': '#include "server/control/ports.h"',
    'src/server/outputs/hls/g.cpp': '#include "server/outputs/dvr/dvr_output.h"',
    'src/server/outputs/fanout/h.cpp': '#include "server/protocols/rtmp/rtmp_server.h"',
    'src/server/api/i.cpp': '#include "server/control/supervisor.h"',
    'src/server/sources/j.cpp': '#include "estuarystreambus.h"',
}
ALLOWED = {
    'src/server/outputs/fanout/ok.cpp': '#include "server/protocols/rtmp/chunk.h"\n#include "server/control/ports.h"',
    'src/server/protocols/rtmp/ok.cpp': '#include "server/control/ports.h"\n#include "server/net/socket_util.h"',
    'src/pipelines/ok.cpp': '#include "estuarystreambus.h"\n#include "fanout/fanout.h"',
    'src/server/control/ok.cpp': '#include "server/control/supervisor.h"',
}


def write_tree(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text + '\n')


def run(checker, root):
    return subprocess.run([sys.executable, checker, root], capture_output=True, text=True)


def main():
    checker = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as good:
        write_tree(good, ALLOWED)
        r = run(checker, good)
        if r.returncode != 0:
            print('FAIL: a tree that follows the rules was refused:\n' + r.stdout)
            failures += 1
    with tempfile.TemporaryDirectory() as bad:
        write_tree(bad, {**ALLOWED, **VIOLATIONS})
        r = run(checker, bad)
        if r.returncode != 1:
            print('FAIL: violations were not refused (exit %d)' % r.returncode)
            failures += 1
        for rel in VIOLATIONS:
            if rel + ':1:' not in r.stdout:
                print('FAIL: no violation reported for ' + rel)
                failures += 1
        for rel in ALLOWED:
            if rel + ':' in r.stdout:
                print('FAIL: allowed include reported in ' + rel)
                failures += 1
    print('check-layers test: %d failure(s)' % failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
