import io
import os

import pytest

from hako.images.readahead import ReadAhead


def test_reads_of_any_size_give_the_stream_back():
    data = os.urandom(3 * 1024 * 1024 + 77)
    out = []
    with ReadAhead(io.BytesIO(data), chunk=65536, depth=2) as stream:
        sizes = [512, 1, 70000, 512, 3000000, 10]
        for size in sizes:
            out.append(stream.read(size))
        out.append(stream.read())
        assert stream.read(10) == b""
    assert b"".join(out) == data


def test_an_error_in_the_source_reaches_the_reader():
    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise OSError("disk on fire")

    with ReadAhead(Broken()) as stream, pytest.raises(OSError, match="disk on fire"):
        stream.read(10)


def test_closing_early_stops_the_thread():
    stream = ReadAhead(io.BytesIO(b"x" * (20 << 20)), chunk=1 << 16, depth=2)
    stream.read(5)
    stream.close()
    assert not stream._thread.is_alive()
