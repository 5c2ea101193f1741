"""Prints the values of a little-endian float32 .npy file, one per line with
repr(), using the standard library only (lit's Python has no numpy).

usage: print_npy.py FILE.npy
"""
import ast
import struct
import sys

with open(sys.argv[1], "rb") as f:
    data = f.read()
if data[:6] != b"\x93NUMPY":
    sys.exit("not an .npy file")
major = data[6]
length_size = 2 if major == 1 else 4
(header_len,) = struct.unpack_from("<H" if major == 1 else "<I", data, 8)
header = ast.literal_eval(data[8 + length_size:8 + length_size + header_len].decode("latin1"))
if header["descr"] != "<f4" or header["fortran_order"]:
    sys.exit(f"unsupported dtype {header['descr']}")
body = data[8 + length_size + header_len:]
for (value,) in struct.iter_unpack("<f", body):
    print(repr(value))
