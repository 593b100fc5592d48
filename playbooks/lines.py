"""What the YAML text of a playbook says beyond its values: where a field sits, so a message
template's syntax error names the line of the playbook file to fix, not only its line within
the template; and an amount written with a thousands separator YAML reads as a fraction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from contracts import languages

_TEMPLATE_LINE = re.compile(r"template syntax error on line (\d+)")
_GROUPED = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
AMOUNTS = ("amount", "kickoff_amount_above")


def _same_key(written: str, part: int | str) -> bool:
    """A key of the file is the location's part, a language code as the file spells it too
    (`de-AT` is stored as `de_AT`)."""
    if written == str(part):
        return True
    return isinstance(part, str) and languages.known(written) and languages.canonical(written) == part


@dataclass(frozen=True)
class FileLines:
    path: Path
    raw: bytes

    def template_line(self, loc: tuple[int | str, ...], message: str) -> str:
        """`message`, with `of the template (default.yaml line 47)` after the template's own
        line number when it is a template syntax error and the field is found in the file."""
        found = _TEMPLATE_LINE.search(message)
        if found is None:
            return message
        line = self.line_of(loc, int(found[1]))
        if line is None:
            return message
        return message.replace(found[0], f"{found[0]} of the template ({self.path.name} line {line})", 1)

    def line_of(self, loc: tuple[int | str, ...], template_line: int = 1) -> int | None:
        """The file line (1-based) of line `template_line` of the text at `loc`, or None."""
        try:
            node = yaml.compose(self.raw, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return None
        for part in loc:
            if part == "translations":  # a message's other languages sit under their codes
                continue
            if isinstance(node, yaml.MappingNode):
                node = next((value for key, value in node.value if _same_key(key.value, part)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                node = None
            if node is None:
                return None
        if not isinstance(node, yaml.ScalarNode):
            return None
        first: int = node.start_mark.line
        if node.style in ("|", ">"):  # the text starts on the line after the indicator, line for line
            return first + 1 + template_line
        # quoted or plain text folds its lines: find the template's line in the source
        wanted = (node.value.split("\n")[template_line - 1 : template_line] or [""])[0].strip()
        source = self.raw.decode(errors="replace").splitlines()[first : node.end_mark.line + 1]
        at = next((i for i, text in enumerate(source) if wanted and wanted in text), 0)
        return first + 1 + at

    def grouped_amounts(self) -> list[str]:
        """`field: reason` for each amount written unquoted as `50.000`: YAML reads it as 50.0
        (a number with a decimal point), not the fifty thousand a reader of European figures
        means; the file loads, and a 50,000 threshold would be 50."""
        try:
            root = yaml.compose(self.raw, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return []
        found: list[str] = []

        def visit(node: yaml.Node | None, where: tuple[str, ...]) -> None:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    text = value.value if isinstance(value, yaml.ScalarNode) and value.style is None else ""
                    if key.value in AMOUNTS and isinstance(text, str) and _GROUPED.match(text):
                        written = ".".join((*where, key.value))
                        found.append(
                            f"{written}: {text} reads as {float(text):g} (YAML takes '.' for the decimal point): "
                            f"write {text.replace('.', '')} for {text.replace('.', ',')}, without a separator"
                        )
                    visit(value, (*where, str(key.value)))
            elif isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    visit(item, (*where, str(i)))

        visit(root, ())
        return found
