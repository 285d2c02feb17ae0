#!/usr/bin/env python3
"""Writes a deterministic chat transcript for `modelpin replay` benchmarks.

    gen_transcript.py --lines 1000000 --seed 8 --out /tmp/x/transcript.txt

Every line is one message: about 90% ordinary chat (prose, URLs, paths, fractions: slashes, but
no directive) and 10% /model commands and directives (pins, status, list, errors, mid-sentence
directives). The same seed gives the same file. Without --out the transcript goes to stdout.
"""
import argparse
import random
import sys

WORDS = ("the a please can you summarise explain why how what when this that meeting notes code "
         "review bug fix release plan draft email budget table numbers quickly again later today "
         "tomorrow thanks ok sure maybe also and then but with for from into about").split()

SLASHY = (
    "https://github.com/example/repo/blob/main/src/engine.cc#L42",
    "http://example.org/a/b/c?x=1&y=2",
    "https://docs.example.com/v2/guide/getting-started/",
    "and/or",
    "3/4",
    "24/7",
    "TCP/IP",
    "src/grammar/directive.cc",
    "read/write",
    "s3://bucket/key/object.json",
)

COMMANDS = (
    "/model sonnet",
    "/model opus",
    "/model llama",
    "/model status",
    "/model list",
    "/model",
    "/model default",
    "/model anthropic/claude-sonnet-4-5",
    "/model opus@anthropic:work",
    "/model sonnet@anthropic:default",
    "/model nosuchmodel",
    "/MODEL Sonnet",
    "/model: opus",
    "/model 2",
    "hello /model sonnet please",
    "/model openrouter/moonshotai/kimi-k2.5",
)


def ordinary(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(4, 24)):
        parts.append(rng.choice(SLASHY) if rng.random() < 0.2 else rng.choice(WORDS))
    text = " ".join(parts)
    return text[0].upper() + text[1:] + rng.choice(("?", ".", "!", ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--commands", type=float, default=0.10, help="share of command lines")
    ap.add_argument("--out", default="-")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8", newline="\n")
    commands = 0
    chunk = []
    for _ in range(args.lines):
        if rng.random() < args.commands:
            chunk.append(rng.choice(COMMANDS))
            commands += 1
        else:
            chunk.append(ordinary(rng))
        if len(chunk) >= 10000:
            out.write("\n".join(chunk) + "\n")
            chunk.clear()
    if chunk:
        out.write("\n".join(chunk) + "\n")
    if out is not sys.stdout:
        out.close()
    print(f"gen_transcript: {args.lines} lines, {commands} commands, seed {args.seed}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
