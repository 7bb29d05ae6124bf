"""The export docs' Python examples run as written (docs/export/*.md), each page's blocks in order, in a
temporary directory: what a new user copies works."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / 'docs' / 'export'
PAGES = sorted(DOCS.glob('*.md'))
NEEDS = {'timm.md': 'timm', 'huggingface.md': 'transformers'}


def python_blocks(page: Path) -> list[str]:
    return re.findall(r'```python\n(.*?)```', page.read_text(), flags=re.S)


def test_every_family_has_a_page_with_examples():
    assert [p.name for p in PAGES] == ['huggingface.md', 'timm.md', 'torchvision.md']
    assert all(python_blocks(p) for p in PAGES)


@pytest.mark.parametrize('page', PAGES, ids=[p.name for p in PAGES])
def test_the_examples_run(page, tmp_path, monkeypatch, capsys):
    if page.name in NEEDS:
        pytest.importorskip(NEEDS[page.name])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    for i, code in enumerate(python_blocks(page)):
        exec(compile(code, f'{page.name} python block {i + 1}', 'exec'), {'__name__': f'docs_{i}'})
    assert list(tmp_path.glob('*.onnx')), 'the examples export something'
    assert 'AttnLens export: ' in capsys.readouterr().out
