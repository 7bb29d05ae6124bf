"""Re-measure, from the shipped ONNX files and without retraining, what the pipeline now adds to
public/models/index.json on a full rebuild, then rewrite the cards: the vit-attn pseudo-mask figures under
every head convention (metrics.head_conventions; test split and gallery slice) and the paired bootstrap
intervals of the cards' comparisons (zoo.comparison_intervals).

    ml/.venv/bin/python ml/scripts/remeasure_cards.py
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'ml'))

from attnlens_ml import zoo  # noqa: E402
from attnlens_ml.cards import write_cards  # noqa: E402
from attnlens_ml.dataset import load_split  # noqa: E402
from attnlens_ml.train_vit import VIT  # noqa: E402


def main() -> None:
    index_path = ROOT / 'public' / 'models' / 'index.json'
    index = json.loads(index_path.read_text())
    entry = next(m for m in index['models'] if m['id'] == 'vit-attn')
    test = load_split('test')
    objects = zoo.instance_masks('test', len(test['images']))
    path = ROOT / 'public' / entry['file']
    for key, n in (('test', len(test['images'])), ('check_slice', zoo.GALLERY)):
        got = zoo.vit_metrics_onnx(
            path, test['images'][:n], test['semantic'][:n], VIT.patch, VIT.grid, objects=objects[:n]
        )
        for k, v in entry['metrics'][key].items():  # what was there is re-measured, not replaced
            assert got[k] == v, (key, k, got[k], v)
        entry['metrics'][key] = got
        print(key, json.dumps(got['dino_last_layer_heads']))
    paths = {m['id']: ROOT / 'public' / m['file'] for m in index['models']}
    index['experiments']['intervals'] = zoo.comparison_intervals(paths, test)
    for c in index['experiments']['intervals']:
        print(f'{c["a"]} - {c["b"]}: {c["metric"]} {c["diff"]:+.4f} [{c["ci"][0]:+.4f}, {c["ci"][1]:+.4f}]')
    index_path.write_text(json.dumps(index, indent=1))  # as the pipeline writes it
    write_cards(index)


if __name__ == '__main__':
    main()
