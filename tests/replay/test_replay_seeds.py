"""The gate replays under several hash seeds: workflow code that issues commands while
iterating a set of strings issues them in the order of the process's hash seed, so in one
process it passes or fails by chance; under the gate's seeds it fails, named as such."""

from __future__ import annotations

from replay import diagnosis
from replay.corpus import CORPUS
from replay.seeds import GATE_SEEDS, replay_under_seeds
from tests.harness.support import load_edited_copy

CANCEL = CORPUS / "v3.10" / "cancel.json"


def snapshot_and_owner_from_a_set(source: str) -> str:
    """The playbook snapshot and the owner's assignment issued in a loop over a set."""
    snapshot = "            snapshot = await effects.snapshot(deal) if run.hold is None else None\n"
    owner = "        owners = held or await self._assign_owner(deal)\n"
    assert snapshot in source and owner in source
    loop = (
        "            early = {}\n"
        '            for step in {"snapshot_playbook", "assign_owner"}:\n'
        '                early[step] = await (effects.snapshot(deal) if step == "snapshot_playbook" '
        "else self._assign_owner(deal))\n"
        '            snapshot = early["snapshot_playbook"]\n'
    )
    return source.replace(snapshot, loop).replace(owner, '        owners = held or early["assign_owner"]\n')


async def test_iterating_a_set_to_issue_commands_fails_the_gate_under_some_seed(tmp_path):
    edited = load_edited_copy(tmp_path, snapshot_and_owner_from_a_set)
    spec = f"{edited.__module__}:OnboardingWorkflow"
    # one process, one seed: this one happens to iterate the set in the recorded order
    assert await replay_under_seeds([CANCEL], spec, seeds=[0], python_path=[tmp_path]) == []
    [problem] = await replay_under_seeds([CANCEL], spec, seeds=GATE_SEEDS, python_path=[tmp_path])
    assert problem.label == str(CANCEL)
    assert 0 not in problem.seeds and problem.seeds, problem.seeds
    assert problem.cause == diagnosis.HASH_ORDER
    message = problem.message()
    assert f"PYTHONHASHSEED={', '.join(map(str, problem.seeds))}" in message
    assert "never a set" in message
    assert "Activity type of scheduled event 'snapshot_playbook'" in problem.mismatch
