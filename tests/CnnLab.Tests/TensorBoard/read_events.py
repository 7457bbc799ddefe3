#!/usr/bin/python3
"""Reads a TensorBoard event file without CnnLab's code and prints what it holds as JSON, one object per event.

Usage: read_events.py GENERATED_DIR EVENT_FILE
GENERATED_DIR holds tensorboard_events_pb2.py, made by: protoc --python_out=GENERATED_DIR tensorboard_events.proto

The TFRecord framing is checked record by record (tensorflow/core/lib/io/record_reader.cc): uint64 length, masked
CRC-32C of those 8 bytes, the data, masked CRC-32C of the data, all little-endian; the CRCs are recomputed here bit by
bit from the Castagnoli polynomial. Each record must parse as an Event. Any violation ends the script with exit code 1
and one line on stderr. Needs Debian's python3-protobuf.
"""
import json
import struct
import sys


def crc32c(data):
    # Bit-at-a-time CRC-32C (reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF), RFC 3720 B.4.
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob):
    offset = 0
    while offset < len(blob):
        if offset + 12 > len(blob):
            fail(f"truncated record header at byte {offset}")
        header = blob[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[offset + 8:offset + 12])
        if length_crc != masked_crc32c(header):
            fail(f"length CRC mismatch at byte {offset}")
        start = offset + 12
        if start + length + 4 > len(blob):
            fail(f"truncated record data at byte {offset}")
        data = blob[start:start + length]
        (data_crc,) = struct.unpack("<I", blob[start + length:start + length + 4])
        if data_crc != masked_crc32c(data):
            fail(f"data CRC mismatch in the record at byte {offset}")
        yield data
        offset = start + length + 4


def png_size(png):
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        fail("an image is not a PNG")
    return struct.unpack(">II", png[16:24])


def describe(value):
    kind = value.WhichOneof("value")
    out = {"tag": value.tag, "kind": kind}
    if kind == "simple_value":
        out["value"] = value.simple_value
    elif kind == "histo":
        h = value.histo
        out.update(min=h.min, max=h.max, num=h.num, sum=h.sum, sum_squares=h.sum_squares,
                   bucket_limit=list(h.bucket_limit), bucket=list(h.bucket))
    elif kind == "image":
        width, height = png_size(value.image.encoded_image_string)
        out.update(height=value.image.height, width=value.image.width, colorspace=value.image.colorspace,
                   png_width=width, png_height=height, bytes=len(value.image.encoded_image_string))
    return out


def fail(message):
    print(f"read_events.py: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    sys.path.insert(0, sys.argv[1])
    import tensorboard_events_pb2 as pb
    with open(sys.argv[2], "rb") as f:
        blob = f.read()
    events = []
    for data in records(blob):
        event = pb.Event()
        event.ParseFromString(data)
        out = {"wall_time": event.wall_time, "step": event.step}
        what = event.WhichOneof("what")
        if what == "file_version":
            out["file_version"] = event.file_version
        elif what == "summary":
            out["values"] = [describe(v) for v in event.summary.value]
        else:
            fail(f"an event holds neither a file version nor a summary (step {event.step})")
        events.append(out)
    json.dump(events, sys.stdout)


if __name__ == "__main__":
    main()
