"""Write the letterbox test variants (public/models/variants/) and list them in public/models/index.json.

    cd ml && .venv/bin/python scripts/make_variants.py      # same as: .venv/bin/python -m attnlens_ml.variants

See attnlens_ml/variants.py (the pipeline calls it too, so `npm run zoo` rebuilds them).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attnlens_ml.variants import main  # noqa: E402

if __name__ == '__main__':
    main()
