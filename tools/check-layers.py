#!/usr/bin/env python3
"""Checks Estuary's layer rules over #include lines (see ARCHITECTURE.md, "Layers").

Usage: check-layers.py [ROOT]   (ROOT defaults to the repository this script is in)
Prints one line per violation (file:line: rule) and exits 1 if there is any.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
PLUGIN_HEADER = re.compile(r'^estuary[a-z0-9_]*\.h$')  # the C headers of gst-plugins/

# Sans-IO codecs: parsers and writers of protocol bytes with no sockets, threads or server state.
SANS_IO = {
    'src/server/protocols/rtmp': ['chunk', 'handshake', 'protocol_control', 'session', 'session_commands'],
    'src/server/protocols/srt': ['stream_id'],
    'src/server/protocols/webrtc': ['sdp_offer', 'sdp_text'],
}


def codec_headers():
    out = set()
    for folder, names in SANS_IO.items():
        for n in names:
            out.add(folder[len('src/'):] + '/' + n + '.h')
    return out


def folder_of(rel, depth):
    parts = rel.split('/')
    return '/'.join(parts[:depth])


def rules_for(rel):
    """Yields (description, predicate(include, system) -> bool meaning violation)."""
    codecs = codec_headers()
    quoted_src = lambda inc, sys_: not sys_ and inc.split('/')[0] in ('common', 'fanout', 'pipelines', 'server')
    if rel.startswith('gst-plugins/'):
        yield 'gst-plugins includes nothing under src/', quoted_src
        return
    if not rel.startswith('src/'):
        return
    yield 'no relative includes that climb folders', lambda inc, s: '..' in inc.split('/')
    if not rel.startswith('src/pipelines/'):
        yield 'only src/pipelines includes the stream bus plugin headers', \
            lambda inc, s: not s and PLUGIN_HEADER.match(inc) is not None
    if not rel.startswith('src/server/control/'):
        yield 'supervisor.h is included only inside src/server/control/', \
            lambda inc, s: inc == 'server/control/supervisor.h'
    for folder, names in SANS_IO.items():
        for n in names:
            if rel in (folder + '/' + n + '.h', folder + '/' + n + '.cpp'):
                own = folder[len('src/'):] + '/'
                yield 'sans-IO codecs include only common/ and their own codec headers', \
                    lambda inc, s, own=own: not s and not inc.startswith('common/') and \
                    not (inc.startswith(own) and inc in codecs)
    if rel.startswith('src/common/'):
        yield 'common includes only common/', lambda inc, s: quoted_src(inc, s) and not inc.startswith('common/')
    elif rel.startswith('src/fanout/'):
        yield 'fanout includes only common/ and fanout/', \
            lambda inc, s: quoted_src(inc, s) and inc.split('/')[0] not in ('common', 'fanout')
        yield 'fanout knows no GStreamer', lambda inc, s: s and inc.startswith('gst/')
    elif rel.startswith('src/pipelines/'):
        yield 'pipelines includes nothing of server/', lambda inc, s: inc.startswith('server/')
        yield 'pipelines includes no libsoup or json-glib', \
            lambda inc, s: s and (inc.startswith('libsoup/') or inc.startswith('json-glib/'))
    elif rel.startswith('src/server/config/'):
        yield 'config includes only common/, pipelines/ and server/config/', \
            lambda inc, s: inc.startswith('server/') and not inc.startswith('server/config/')
    elif rel.startswith('src/server/control/'):
        yield 'control includes no protocols/, outputs/, sources/, cluster/, api/ or net/', \
            lambda inc, s: inc.split('/')[:2] in (['server', 'protocols'], ['server', 'outputs'], ['server', 'sources'],
                                                  ['server', 'cluster'], ['server', 'api'], ['server', 'net'])
    elif rel.startswith('src/server/net/'):
        yield 'net includes only common/, server/config/ and server/net/', \
            lambda inc, s: inc.startswith('server/') and inc.split('/')[1] not in ('config', 'net')
    elif rel.startswith('src/server/protocols/'):
        own = folder_of(rel, 4)[len('src/'):]
        yield 'a protocol includes no other protocol', \
            lambda inc, s: inc.startswith('server/protocols/') and not inc.startswith(own + '/')
        yield 'protocols include no outputs/, sources/, cluster/ or api/', \
            lambda inc, s: inc.split('/')[:2] in (['server', 'outputs'], ['server', 'sources'], ['server', 'cluster'],
                                                  ['server', 'api'])
    elif rel.startswith('src/server/outputs/'):
        own = folder_of(rel, 4)[len('src/'):]
        yield 'an output includes no other output', \
            lambda inc, s: inc.startswith('server/outputs/') and not inc.startswith(own + '/')
        yield "outputs use a protocol's sans-IO codec only, never its server", \
            lambda inc, s: inc.startswith('server/protocols/') and inc not in codecs
        yield 'outputs include no sources/, cluster/, api/ or net/', \
            lambda inc, s: inc.split('/')[:2] in (['server', 'sources'], ['server', 'cluster'], ['server', 'api'],
                                                  ['server', 'net'])
    elif rel.startswith('src/server/sources/'):
        yield 'sources include no protocols/, outputs/, cluster/ or api/', \
            lambda inc, s: inc.split('/')[:2] in (['server', 'protocols'], ['server', 'outputs'], ['server', 'cluster'],
                                                  ['server', 'api'])
    elif rel.startswith('src/server/cluster/'):
        yield 'cluster includes no protocols/, outputs/, sources/, api/ or net/', \
            lambda inc, s: inc.split('/')[:2] in (['server', 'protocols'], ['server', 'outputs'], ['server', 'sources'],
                                                  ['server', 'api'], ['server', 'net'])
        yield 'cluster uses the ports of control/, never the supervisor', \
            lambda inc, s: inc in ('server/control/supervisor.h', 'server/control/control_plane.h')
    elif rel.startswith('src/server/api/'):
        yield "the API includes no protocol", lambda inc, s: inc.startswith('server/protocols/')


def check(root):
    violations = []
    for top in ('gst-plugins', 'src'):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if not re.search(r'\.(c|cc|cpp|h|hpp|in)$', name):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, '/')
                rules = list(rules_for(rel))
                if not rules:
                    continue
                with open(path, encoding='utf-8', errors='replace') as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        system, inc = m.group(1) == '<', m.group(2)
                        for desc, bad in rules:
                            if bad(inc, system):
                                violations.append('%s:%d: #include %s%s%s: %s' % (
                                    rel, lineno, m.group(1), inc, '>' if system else '"', desc))
    return violations


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    violations = check(root)
    for v in violations:
        print(v)
    print('layer rules: %d violation(s)' % len(violations))
    return 1 if violations else 0


if __name__ == '__main__':
    sys.exit(main())
