#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""check-inventory.py FILE...: checks cloud inventory plugin files offline, the
way ansible-inventory reads them up to the point where the plugin calls its
cloud, with Ansible's own loader and option handling:

  1. the `plugin:` it names is installed (inventory_loader, as ansible-inventory finds it);
  2. that plugin's verify_file() accepts the file (its name ends as the plugin requires);
  3. the plugin's own _read_config_data() reads it: YAML, the plugin name, every option
     through Ansible's configuration manager (types, choices), as parse() does first;
  4. every key is an option the installed plugin documents (Ansible ignores unknown keys:
     a misspelt `filter:` would silently select the whole account);
  5. every Jinja expression of compose, groups, conditional_groups, hostvar_expressions,
     keyed_groups and exclude_host_filters compiles.

Nothing contacts a cloud and no credentials are needed. It cannot tell whether the
credentials work, the projects exist or the filters match any VM. Exit 0 when every
file passes, else 1 with one line per problem."""
import os
import sys

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

EXPRESSION_OPTIONS = ("compose", "groups", "conditional_groups", "hostvar_expressions")


def expressions(config):
    for opt in EXPRESSION_OPTIONS:
        for k, v in (config.get(opt) or {}).items():
            yield f"{opt}.{k}", v
    for i, kg in enumerate(config.get("keyed_groups") or []):
        if isinstance(kg, dict) and "key" in kg:
            yield f"keyed_groups[{i}].key", kg["key"]
    for i, f in enumerate(config.get("exclude_host_filters") or []):
        yield f"exclude_host_filters[{i}]", f


def check(path, loader, templar):
    problems = []
    try:
        raw = loader.load_from_file(path, cache=False)
    except AnsibleError as e:
        return [f"{path}: not YAML: {e.message.splitlines()[0]} (fix the syntax)"]
    if not isinstance(raw, dict) or "plugin" not in raw:
        return [f"{path}: no 'plugin:' key (name the inventory plugin, e.g. amazon.aws.aws_ec2)"]
    name = raw["plugin"]
    plugin = inventory_loader.get(name)
    if plugin is None:
        return [f"{path}: inventory plugin {name} is not installed (install its collection; Debian 12's ansible "
                f"package ships google.cloud, azure.azcollection and amazon.aws)"]
    if not plugin.verify_file(path):
        return [f"{path}: {name} does not accept this file: its name must end as the plugin requires "
                f"(see ansible-doc -t inventory {name}, e.g. .gcp.yml, .azure_rm.yml, .aws_ec2.yml)"]
    plugin.loader = loader
    plugin._vars = {}
    try:
        plugin._read_config_data(path)
    except AnsibleError as e:
        problems.append(f"{path}: {name} refuses its options: {str(e).splitlines()[0]}")
    documented = C.config.get_configuration_definitions("inventory", plugin._load_name)
    for key in raw:
        if key not in documented:
            problems.append(f"{path}: '{key}' is not an option of {name} (Ansible would ignore it; "
                            f"see ansible-doc -t inventory {name})")
    for where, expr in expressions(raw):
        try:
            templar.environment.compile_expression(str(expr))
        except Exception as e:   # jinja2.TemplateSyntaxError and friends
            problems.append(f"{path}: {where}: the expression {expr!r} does not compile: {e} (fix its Jinja syntax)")
    return problems


def main(paths):
    if not paths:
        print("usage: check-inventory.py FILE...", file=sys.stderr)
        return 2
    _AnsibleCollectionFinder(paths=C.COLLECTIONS_PATHS)._install()
    loader = DataLoader()
    templar = Templar(loader=loader)
    bad = 0
    for p in paths:
        problems = check(os.path.abspath(p), loader, templar)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            bad += 1
        else:
            print(f"{p}: ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
