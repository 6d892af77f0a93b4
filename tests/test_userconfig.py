"""``~/.neuro/user.toml``: [job] life-span and ps-format, clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_jupyter.userconfig import UserConfig, UserConfigError, default_path, load_user_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_user_config(tmp_path / "user.toml") == UserConfig()


def test_job_keys_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, '# jobs section\n[job]\nlife-span = "2d3h20min"\nps-format = "id name"\n'
    )
    config = load_user_config(path)
    assert (config.life_span, config.ps_format, config.path) == ("2d3h20min", "id name", path)


def test_default_path_honours_neuro_config(tmp_path: Path) -> None:
    assert default_path({"NEURO_CONFIG": str(tmp_path)}) == tmp_path / "user.toml"
    assert default_path({}).parts[-2:] == (".neuro", "user.toml")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[job\n", "not valid TOML"),
        ('[job]\nlife-spam = "1d"\n', "unknown key 'life-spam' in \\[job\\]"),
        ('[storage]\ncp-exclude = ["x"]\n', "unknown section \\[storage\\]"),
        ("[job]\nlife-span = 5\n", "life-span must be a string"),
        ('[job]\nlife-span = "1h1d"\n', "life-span: duration '1h1d' is invalid"),
        ('[job]\nps-format = "bogus"\n', "ps-format: ps column 'bogus' is unknown"),
        ('job = "x"\n', "must be a table"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UserConfigError, match=words) as caught:
        load_user_config(path)
    assert str(path) in str(caught.value)
