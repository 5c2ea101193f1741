"""Writes a float32 .npy file from a shape and comma-separated values, with
the standard library only (lit's Python has no numpy).

usage: write_npy.py OUT.npy SHAPE VALUES   e.g. x.npy 2x1x4 "0,1,2,3,-1,0.5,0.25,4"
VALUES "random:SEED" fills the shape with uniform values in [-1, 1) from a
fixed linear congruential generator, so runs are reproducible.
"""
import struct
import sys

path, shape_text, values_text = sys.argv[1:4]
shape = tuple(int(d) for d in shape_text.split("x"))
count = 1
for d in shape:
    count *= d
if values_text.startswith("random:"):
    state = int(values_text.split(":")[1])
    values = []
    for _ in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        values.append((state >> 40) / 2**23 - 1.0)
else:
    values = [float(v) for v in values_text.split(",")]
assert count == len(values), f"{count} elements expected, {len(values)} given"
dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % dims
header += " " * (-(len(header) + 11) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
    f.write(header.encode("latin1"))
    f.write(struct.pack("<%df" % count, *values))
