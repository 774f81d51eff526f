"""Figure 3: token-label heatmaps on SST-2 sentences containing "funny" and "pretty".

Trains (or reuses) a PredGen checkpoint on SST-2, picks validation sentences that
contain each word, and draws the heatmap + captum attributions for each. The JSON records,
for each word, PVI(word's state -> "positive") in nats (gold-label probe) and, for a
generative checkpoint, the pointwise information of the model's generated label with the
word. The paper's values ("funny" 0.47, "pretty" 0.34) are its own token-level MI, which
the paper does not define precisely: a different quantity, listed for reference only.

    .venv/bin/python analyses/fig3_token_heatmap.py --quick
"""
from __future__ import annotations

from _common import budget, checkpoint, data_dir, parser, save


def pick_sentences(words, per_word, ddir, seed):
    from predgen_core.tasks import TASKS

    ex = TASKS.get("sst2").load("validation", data_dir=ddir)
    chosen = []
    for w in words:
        # the raw sentence: heatmap() formats it into the prompt ("Review: ...") itself
        raw = [e.fields["sentence"] for e in ex]
        hits = [t for t in raw if f" {w} " in f" {t.lower()} " and len(t.split()) <= 25]
        chosen += [(w, t) for t in hits[:per_word]]
    return chosen


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--words", default="funny,pretty")
    ap.add_argument("--method", default="predgen")
    args = ap.parse_args()
    from mi_toolkit.measures.heatmap import HeatmapOptions, heatmap
    from mi_toolkit.measures.setting import Setting
    from mi_toolkit.reports.heatmap import heatmap_html

    ddir = data_dir(args.data_dir)
    ckpt = checkpoint(args, args.method, "sst2")
    per_word = 1 if args.quick else 3
    # the probes' pool: train sentences the LM never saw (no evaluation pool: the sentences are what is read)
    probes = Setting([ckpt], "sst2", eval_split=None, n_fit=budget(args).mi_samples * 2, seed=args.seed,
                     data_dir=ddir)
    options = HeatmapOptions(n_steps=16 if args.quick else 50, controls=True)
    rows = []
    for i, (word, text) in enumerate(pick_sentences(args.words.split(","), per_word, ddir, args.seed)):
        res = heatmap(probes, text, options)
        cols = [j for j, t in enumerate(res.tokens) if t.strip().lower() == word]
        pos = res.rows.index("positive")
        gen = res.generated[0] if res.generated is not None else None
        rows.append({"word": word, "text": text, "pvi_word_positive": [float(res.pvi[pos, j]) for j in cols],
                     "generated_label": res.generated_label,
                     "info_word_generated": None if gen is None else [float(gen[j]) for j in cols],
                     "probes": res.probes, "controls": res.controls, "heatmap": res.to_dict()})
        save(args, f"fig3_token_heatmap_{i}_{word}", rows[-1], heatmap_html(res))
    save(args, "fig3_token_heatmap", {"checkpoint": str(ckpt), "paper_reference_only": {"funny": 0.47, "pretty": 0.34},
                                      "sentences": [{k: r[k] for k in r if k != "heatmap"} for r in rows]})


if __name__ == "__main__":
    main()
