#!/usr/bin/env python3
# detect_fixture.py - writes the expected-tensor fixtures of test_cap_detect.c
# from the oracle's --dump files (shared/oracle/nanodet_oracle.js). Dev tool,
# not a test. Usage: detect_fixture.py DUMP_DIR STEM OUT.bin
# Format (little-endian): "ODXDET1\0", u32 count, then per tensor (network
# input, then scores/boxes for strides 8, 16, 32): u32 n, u32 stride,
# u32 n_samples, f32 mean, f32 mean_abs, f32 max, f32 samples[i*stride].
import array, struct, sys

dump, stem, out = sys.argv[1:4]
names = ['in', 'Identity', 'Identity_3', 'Identity_1', 'Identity_4', 'Identity_2', 'Identity_5']
blob = bytearray(b'ODXDET1\0' + struct.pack('<I', len(names)))
for k in names:
    a = array.array('f')
    a.frombytes(open(f'{dump}/{stem}.{k}.f32', 'rb').read())
    stride = 101 if k == 'in' else 97
    s = a[::stride]
    blob += struct.pack('<IIIfff', len(a), stride, len(s), sum(a) / len(a),
                        sum(abs(x) for x in a) / len(a), max(a))
    blob += s.tobytes()
open(out, 'wb').write(blob)
