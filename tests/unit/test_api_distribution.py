from hako.api.distribution import pull_name
from hako.api.progress import human_size, progress_bar


def test_pull_name_from_the_query_docker_sends():
    assert pull_name("127.0.0.1:5000/trace/bb", "v1") == ("127.0.0.1:5000/trace/bb:v1", False)
    assert pull_name("busybox", "sha256:" + "a" * 64) == ("busybox@sha256:" + "a" * 64, False)
    assert pull_name("busybox", "") == ("busybox", True)              # docker pull -a
    assert pull_name("busybox:1.36", "") == ("busybox:1.36", False)
    assert pull_name("localhost:5000/x", "") == ("localhost:5000/x", True)


def test_sizes_and_bars_as_go_units_and_jsonmessage_write_them():
    assert human_size(0) == "0B"
    assert human_size(999) == "999B"
    assert human_size(1234567) == "1.235MB"
    assert human_size(2 * 10**9) == "2GB"
    bar = progress_bar(50, 100)
    assert bar.startswith("[" + "=" * 25 + ">") and bar.endswith("50B/100B")
    assert progress_bar(100, 100).startswith("[" + "=" * 50 + "]")
    assert progress_bar(5, 0).strip() == "5B"
