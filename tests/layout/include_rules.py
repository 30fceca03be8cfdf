#!/usr/bin/python3
"""The folders' arrows, read from the #include lines (docs/architecture.md, "Folders"): fails
with one line per include that runs against them.

  - the socket-free libraries (auth, config, discovery, handover, http, http2, metrics, ratelimit, routing, websocket)
    include nothing of gateway/ and nothing of Asio but its address parsing;
  - gateway/proxy (the data path) includes nothing of gateway/admin (the console) or
    gateway/control (the control thread's clients);
  - gateway/control includes nothing of gateway/admin.

  include_rules.py [ROOT]"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
SOCKET_FREE = ["auth", "config", "discovery", "handover", "proxy_protocol", "http", "http2", "metrics", "ratelimit", "routing", "websocket"]
RULES = [(lib, ["gateway/", "boost/asio"]) for lib in SOCKET_FREE] + [
    ("gateway/proxy", ["gateway/admin/", "gateway/control/"]),
    ("gateway/control", ["gateway/admin/"]),
]
ALLOWED = ["boost/asio/ip/address"]  # parsing an address text opens nothing
include = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)

broken = []
checked = 0
for folder, forbidden in RULES:
    for path in sorted((root / folder).rglob("*")):
        if path.suffix not in (".hpp", ".cpp", ".h", ".in"):
            continue
        checked += 1
        for target in include.findall(path.read_text()):
            if any(target.startswith(a) for a in ALLOWED):
                continue
            for prefix in forbidden:
                if target.startswith(prefix):
                    broken.append(f"{path.relative_to(root)}: includes {target} ({folder} must not include {prefix})")
if checked == 0:
    broken.append(f"no source files found under {root}")
for line in broken:
    print(line)
print(f"{checked} files checked, {len(broken)} includes against the folders' arrows")
sys.exit(1 if broken else 0)
