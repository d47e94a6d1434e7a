"""README.md stays in step with the code: every setting and every command is documented."""

from pathlib import Path

from api.config import SETTINGS

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    assert f"\n## {title}\n" in text, f"README.md has no '## {title}' section"
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_lists_every_setting():
    settings = _section("Settings")
    missing = [name for name in SETTINGS if f"| `{name}` |" not in settings]
    assert not missing, f"README.md's Settings table lacks {missing}"


def test_readme_lists_every_command(app):
    commands = _section("Commands")
    ours = set(app.cli.list_commands(None)) - {"db", "limiter", "openapi", "run", "shell", "routes"}
    missing = sorted(c for c in ours if f"| `{c}" not in commands)
    assert not missing, f"README.md's Commands table lacks {missing}"
