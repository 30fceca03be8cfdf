#!/usr/bin/python3
"""Keeps the docs true (one line per problem, exit 1 if any):

  - every relative link in README.md and docs/*.md resolves, to a file and, with #anchor, to one
    of its headings;
  - every key `wsgate --list-config-keys` prints is the first cell of a row in
    docs/configuration.md, and every key such a row names is one it prints;
  - every key it prints is named in gateway.yaml (as `key:`, set or in a comment), every key
    gateway.yaml sets is one it prints, and every key a comment shows as `# key:` exists;
  - the gateway.yaml in deploy/kubernetes/wsgate.yaml's ConfigMap passes --check-config.

  docs_test.py WSGATE_BINARY [ROOT]"""
import pathlib
import re
import subprocess
import sys

import yaml

binary = sys.argv[1]
root = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else pathlib.Path(__file__).resolve().parents[2])
problems = []


def anchors(markdown):
    """GitHub's heading slugs: lower case, punctuation but - and _ dropped, spaces to -."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"^#{1,6}\s+(.*)", line)
        if m:
            text = re.sub(r"[`*]", "", m.group(1).strip()).lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text)))
    return out


# 1. Links.
pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
link = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
for page in pages:
    text = page.read_text()
    text_no_code = re.sub(r"```.*?```", "", text, flags=re.S)
    for m in link.finditer(text_no_code):
        target = m.group(1) or m.group(2)
        if re.match(r"^[a-z]+:", target):
            continue  # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        where = f"{page.relative_to(root)}: link {target}"
        if not dest.exists():
            problems.append(f"{where}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            problems.append(f"{where}: no heading #{anchor} in {dest.relative_to(root)}")

# 2. The loader's keys against docs/configuration.md.
keys = subprocess.run([binary, "--list-config-keys"], check=True, capture_output=True, text=True).stdout.split()
accepted = set(keys)
if len(accepted) < 50:
    problems.append(f"--list-config-keys printed only {len(accepted)} keys")
reference = (root / "docs" / "configuration.md").read_text()
documented = set(re.findall(r"^\|\s*`([a-z0-9_\[\]\.]+)`\s*\|", reference, flags=re.M))
for key in keys:
    if key not in documented:
        problems.append(f"docs/configuration.md: no row for `{key}`, which the loader accepts")
for key in sorted(documented - accepted):
    problems.append(f"docs/configuration.md: `{key}` has a row, but the loader accepts no such key")

# 3. gateway.yaml: what it sets is accepted, and every key is named in it.
shipped_text = (root / "gateway.yaml").read_text()
sections = {k for k in accepted}  # a key whose value the loader reads key by key


def walk(node, path):
    if isinstance(node, list):
        for item in node:
            walk(item, path + "[]")
    elif isinstance(node, dict):
        for key, value in node.items():
            full = f"{path}.{key}" if path else str(key)
            if full not in accepted:
                problems.append(f"gateway.yaml: sets {full}, which the loader does not accept")
                continue
            children = full + "."
            if any(k.startswith(children) or k.startswith(full + "[].") for k in accepted):
                walk(value, full)


walk(yaml.safe_load(shipped_text), "")
named = set(re.findall(r"(?:^|[\s{,#-])([a-z_][a-z0-9_]*):(?=\s|$)", shipped_text, flags=re.M))
leaves = {k.rsplit(".", 1)[-1].replace("[]", "") for k in accepted}
for key in keys:
    leaf = key.rsplit(".", 1)[-1]
    if leaf not in named:
        problems.append(f"gateway.yaml: {key} is not shown (no `{leaf}:` set or in a comment)")
for m in re.finditer(r"^\s*#\s*-?\s*([a-z_][a-z0-9_]*):\s", shipped_text, flags=re.M):
    if m.group(1) not in leaves:
        line = shipped_text.count("\n", 0, m.start()) + 1
        problems.append(f"gateway.yaml:{line}: the comment shows `{m.group(1)}:`, which is no key")

# 4. The Kubernetes example's gateway.yaml is one the loader accepts (its token file aside).
import tempfile
manifest = list(yaml.safe_load_all((root / "deploy" / "kubernetes" / "wsgate.yaml").read_text()))
config_map = next(d for d in manifest if d and d.get("kind") == "ConfigMap")
with tempfile.TemporaryDirectory() as tmp:
    token = pathlib.Path(tmp) / "token"
    token.write_text("0123456789abcdef0123456789abcdef\n")
    gateway_yaml = pathlib.Path(tmp) / "gateway.yaml"
    gateway_yaml.write_text(config_map["data"]["gateway.yaml"].replace("/etc/wsgate-admin/token", str(token)))
    checked = subprocess.run([binary, "--check-config", str(gateway_yaml)], capture_output=True, text=True)
    if checked.returncode != 0:
        problems.append(f"deploy/kubernetes/wsgate.yaml: its gateway.yaml is refused: {checked.stdout}{checked.stderr}")

for p in problems:
    print(p)
print(f"{len(pages)} pages, {len(accepted)} configuration keys checked; {len(problems)} problems")
sys.exit(1 if problems else 0)
