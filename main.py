"""The cdktf app (``cdktf.json`` runs ``python main.py``): synthesizes cdktf.out/stacks/byoc."""

from stacks.app import synth

if __name__ == "__main__":
    synth("cdktf.out")
