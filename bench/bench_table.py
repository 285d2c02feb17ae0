"""The markdown table every bench script prints (docs/performance.md): a head and rows of strings,
each column as wide as its widest cell. The scripts' inline Python imports it with
PYTHONPATH=bench:

  print_table(("what", "figure", "target", "met?"), [("replay", "1.2 s", "<= 2 s", "yes")])
"""


def print_table(head, rows):
    w = [max(len(r[i]) for r in list(rows) + [head]) for i in range(len(head))]

    def line(r):
        return "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"

    print(line(head))
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print(line(r))
