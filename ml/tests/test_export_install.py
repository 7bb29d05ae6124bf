"""The export kit as a package: the schema it ships is the repository's, it installs with pip into a fresh
environment, and `attnlens-export` runs from a directory outside the repository (no repository-relative path)."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import onnx

from attnlens_ml.contract import read_contract, validate_contract
from attnlens_ml.export_cli import main, model_id_from

ROOT = Path(__file__).resolve().parents[2]
ML = ROOT / 'ml'

MODELS_PY = """
import torch
from torchvision.models import VisionTransformer


def build_student():
    torch.manual_seed(0)
    return VisionTransformer(image_size=32, patch_size=16, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32,
                             num_classes=3)
"""


def test_packaged_schema_is_the_repository_schema_byte_for_byte():
    packaged = ML / 'attnlens_ml' / 'schema' / 'attnlens-contract.schema.json'
    assert packaged.read_bytes() == (ROOT / 'contract' / 'attnlens-contract.schema.json').read_bytes(), (
        'ml/attnlens_ml/schema/attnlens-contract.schema.json has drifted from contract/: '
        'cp contract/attnlens-contract.schema.json ml/attnlens_ml/schema/'
    )


def test_pyproject_declares_the_command_and_the_schema():
    import tomllib

    meta = tomllib.loads((ML / 'pyproject.toml').read_text())
    assert meta['project']['scripts']['attnlens-export'] == 'attnlens_ml.export_cli:main'
    assert 'schema/*.json' in meta['tool']['setuptools']['package-data']['attnlens_ml']
    deps = {d.split('>')[0].split('=')[0].split('<')[0] for d in meta['project']['dependencies']}
    assert deps == {'torch', 'onnx', 'numpy', 'jsonschema', 'onnxruntime'}  # the kit's own: small


def test_cli_exports_a_model_file(tmp_path, capsys):
    (tmp_path / 'mymodels.py').write_text(MODELS_PY)
    (tmp_path / 'classes.json').write_text(json.dumps(['ok', 'scratch', 'dent']))
    out = tmp_path / 'My Student.onnx'
    code = main(
        [
            f'{tmp_path / "mymodels.py"}:build_student',
            '--task=classification',
            '--role=student',
            '--input=1,3,32,32',
            f'--classes={tmp_path / "classes.json"}',
            f'--out={out}',
            f'--report={tmp_path / "report.json"}',
        ]
    )
    assert code == 0
    contract = read_contract(onnx.load(str(out)))
    assert validate_contract(contract) == []
    assert contract['model']['id'] == 'my-student' == model_id_from(str(out))
    assert [c['name'] for c in contract['classes']] == ['ok', 'scratch', 'dent']
    assert [o['role'] for o in contract['outputs']] == ['class_logits', 'cls_attention', 'self_attention']
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['bytes'] == out.stat().st_size and report['max_abs_diff']['logits'] < 1e-4
    assert 'torchvision VisionTransformer' in capsys.readouterr().out


def test_cli_says_why_it_cannot(tmp_path, capsys):
    (tmp_path / 'mymodels.py').write_text(MODELS_PY)
    code = main([f'{tmp_path / "mymodels.py"}:build_student', '--task=segmentation', '--role=student',
                 '--input=1,3,32,32', f'--out={tmp_path / "x.onnx"}'])  # fmt: skip
    assert code == 1
    assert 'task=segmentation needs logits [1, K, h, w]; the model returns a tensor [1, 3]' in capsys.readouterr().err


def test_pip_install_outside_the_repository(tmp_path):
    """`pip install ./ml` into a fresh venv (offline: no build isolation, no dependencies fetched — torch, onnx
    and numpy come from the system, jsonschema and onnxruntime from ml/.venv through a .pth), then the command
    from a directory outside the repository."""
    src = tmp_path / 'src'
    shutil.copytree(ML, src, ignore=shutil.ignore_patterns('.venv', 'tests', 'runs', 'data', 'build', '*.egg-info'))
    venv = tmp_path / 'venv'
    base = getattr(sys, '_base_executable', sys.executable)
    subprocess.run([base, '-m', 'venv', '--system-site-packages', str(venv)], check=True)
    py = venv / 'bin' / 'python'
    site = subprocess.run(
        [py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # what this interpreter has on top of the system (jsonschema, onnxruntime), after the venv's own packages
    (Path(site) / 'zz-host.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME')}
    env['PIP_NO_INDEX'] = '1'
    subprocess.run(
        [py, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation', str(src)],
        check=True,
        cwd=tmp_path,
        env=env,
    )
    work = tmp_path / 'elsewhere'
    work.mkdir()
    where = subprocess.run(
        [py, '-c', 'import attnlens_ml.contract as c; print(c.__file__)'],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(venv) in where and str(ROOT) not in where
    cli = venv / 'bin' / 'attnlens-export'
    help_text = subprocess.run([cli, '--help'], cwd=work, env=env, check=True, capture_output=True, text=True).stdout
    assert 'usage: attnlens-export' in help_text and 'MODEL' in help_text and '--classes' in help_text
    (work / 'mymodels.py').write_text(MODELS_PY)
    done = subprocess.run(
        [cli, 'mymodels.py:build_student', '--task', 'classification', '--role', 'student', '--input', '1,3,32,32',
         '--out', 'student.onnx'],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert 'cls_attention' in done.stdout
    contract = read_contract(onnx.load(str(work / 'student.onnx')))
    assert validate_contract(contract) == [] and contract['model']['id'] == 'student'
