"""Request bodies for the text benchmark: V1 `instances` of mixed length.

    texts.py OUT_DIR TOKENIZER_JSON

Writes OUT_DIR/b1-NN.json (16 bodies of one text each) and OUT_DIR/b16-NN.json
(16 bodies of 16 texts each). The texts are seeded word sequences whose token
counts (by the model's own tokenizer, [CLS] and [SEP] included) spread evenly
over 10..120, so requests of different lengths are in flight together.
"""
import json
import pathlib
import random
import sys

from tokenizers import Tokenizer

WORDS = (
    "model serving latency request batch tensor gateway predictor transformer kubernetes "
    "cluster node pod replica rollout traffic queue token sentence embedding vector cosine "
    "similarity weather flight hotel booking password account payment invoice customer "
    "support question answer search index document paragraph summary translation language "
    "the a of to and in is was for on with as by at from that this it be are or an which"
).split()


def text_of(tokens: int, tok: Tokenizer, rng: random.Random) -> str:
    words: list[str] = []
    while len(tok.encode(" ".join(words)).ids) < tokens:
        words.append(rng.choice(WORDS))
    return " ".join(words)


def main(out: pathlib.Path, tokenizer: str) -> None:
    tok = Tokenizer.from_file(tokenizer)
    # The file pads every encoding to 128: without this, the empty text
    # already "has" 128 tokens and every text came out empty.
    tok.no_truncation()
    tok.no_padding()
    rng = random.Random(7)
    out.mkdir(parents=True, exist_ok=True)
    lengths = [10 + round(i * 110 / 15) for i in range(16)]
    made = []
    for i, n in enumerate(lengths):
        text = text_of(n, tok, rng)
        made.append(len(tok.encode(text).ids))
        (out / f"b1-{i:02}.json").write_text(json.dumps({"instances": [text]}))
    for i in range(16):
        mixed = [text_of(n, tok, rng) for n in rng.sample(lengths, len(lengths))]
        (out / f"b16-{i:02}.json").write_text(json.dumps({"instances": mixed}))
    if any(m < n for m, n in zip(made, lengths)):
        sys.exit(f"texts shorter than asked: {made} for {lengths}")
    print(f"token lengths {made}; mean {sum(made) / len(made):.0f}")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]), sys.argv[2])
