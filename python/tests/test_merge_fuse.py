"""merge() and fuse(): the same arrays as the CLI's outputs on the same inputs."""

import numpy as np
import pytest

import burstpipe
from conftest import ASSETS, read_png, shared_data


def test_merge_equals_the_cli(cli, tmp_path, engine, synthetic_burst):
    out = tmp_path / "merged.png"
    cli("merge", synthetic_burst, "-o", out, "--merge", "spatial", "--strength", "1.5")
    want = read_png(out)
    got = engine.merge(synthetic_burst, merge="spatial", strength=1.5)
    assert got.dtype == np.uint16 and got.shape == want.shape == (192, 256, 3)
    assert np.array_equal(got, want)


def test_merge_of_listed_files_equals_the_cli(cli, tmp_path, engine, synthetic_burst):
    files = sorted(synthetic_burst.iterdir())[:3]
    out = tmp_path / "merged.png"
    cli("merge", *files, "-o", out, "--reference", "1", "--bits", "8")
    want = read_png(out)
    got = engine.merge([str(f) for f in files], reference=1, bits=8)
    assert got.dtype == np.uint8
    assert np.array_equal(got, want)


def test_merge_names_a_missing_frame(engine, synthetic_burst, tmp_path):
    files = sorted(synthetic_burst.iterdir())[:2] + [tmp_path / "frame-lost.dng"]
    with pytest.raises(FileNotFoundError, match="frame-lost.dng"):
        engine.merge(files)


def bracket():
    return [ASSETS / "fusion" / f"kodim08-ev{ev}.png" for ev in ("-2", "+0", "+2")]


def test_fuse_paths_and_arrays_equal_the_cli(cli, tmp_path, engine):
    out = tmp_path / "fused.png"
    cli("fuse", *bracket(), "-o", out)
    want = read_png(out)
    from_paths = engine.fuse(bracket())
    from_arrays = engine.fuse([read_png(p) for p in bracket()])
    assert from_paths.dtype == np.uint8 and from_paths.shape == want.shape == (256, 384, 3)
    assert np.array_equal(from_paths, want)
    assert np.array_equal(from_arrays, want)


def test_fuse_options_equal_the_cli_on_a_real_bracket(cli, tmp_path, engine):
    folder = shared_data("real/brackets/frobisher")
    out = tmp_path / "fused.png"
    cli("fuse", folder, "-o", out, "--bits", "16", "--exposedness", "0.5", "--no-align")
    want = read_png(out)
    got = burstpipe.fuse(folder, bits=16, exposedness=0.5, no_align=True)
    assert got.dtype == np.uint16
    assert np.array_equal(got, want)


def test_fuse_refuses_bad_brackets(engine):
    a = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="at least two"):
        engine.fuse([a])
    with pytest.raises(ValueError, match="same size"):
        engine.fuse([a, np.zeros((8, 9, 3), np.uint8)])
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        engine.fuse([a, np.zeros((8, 8, 4), np.uint8)])
    with pytest.raises(TypeError, match="uint8 or uint16"):
        engine.fuse([a, np.zeros((8, 8, 3), np.float32)])
