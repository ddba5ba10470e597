#!/usr/bin/env python3
# Converts the OpenAPI description (YAML) to the JSON that GET /openapi.json
# serves; run by scripts/build.sh. Dates stay strings: JSON has no date
# type, and the description quotes them anyway.
import json
import sys

import yaml


class Loader(yaml.SafeLoader):
    pass


Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

with open(sys.argv[1], encoding="utf-8") as f:
    doc = yaml.load(f, Loader=Loader)
json.dump(doc, sys.stdout, ensure_ascii=False, separators=(",", ":"))
sys.stdout.write("\n")
