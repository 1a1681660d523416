"""`sensorkit demo` as it stands: the real sample files through the whole existing chain."""

from sensorkit.cli.main import main


def test_demo_runs_the_chain_on_the_real_files(shared_data, tmp_path, capsys):
    assert main(["demo", "--data", str(shared_data), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "round trip recording -> segy -> recording: bit-exact" in out
    assert "round trip recording -> wav -> recording: bit-exact" in out
    assert "1040 traces x 512 samples" in out  # FILE____032.DZT, as its header says
    assert (tmp_path / "samples.h5").is_file() and (tmp_path / "FILE____032.sgy").is_file()
