from provctl import __version__


def test_connect_then_list_shows_the_connection_with_a_hint_not_the_key(cli, keystore):
    key = "sk-proj-" + "a" * 20 + "dddd"
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", input=key + "\n")
    assert result.exit_code == 0, result.stderr
    listed = cli.json("providers", "list", "--json")
    assert [(c["provider"], c["label"], c["status"], c["key_hint"]) for c in listed] == [
        ("openai", "Work", "active", "sk-p…dddd")
    ]
    assert keystore.secrets == {listed[0]["id"]: key}
    assert key not in result.stdout + result.stderr


def test_version_prints_the_package_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"provctl {__version__}"
