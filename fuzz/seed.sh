#!/usr/bin/env bash
# Fills fuzz/seeds/ with starting inputs: the examples, the real-world manifests in
# ../shared/realworld (Kubernetes YAML tierplan must refuse cleanly), the regression inputs
# of tests/data/fuzz, and a few quantities.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf seeds && mkdir -p seeds/load seeds/quantity
for f in ../examples/*/*.yaml; do
  cp "$f" "seeds/load/$(basename "$(dirname "$f")")-$(basename "$f")"
done
if [ -d ../../shared/realworld ]; then
  find ../../shared/realworld -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) |
    while read -r f; do cp "$f" "seeds/load/realworld-$(echo "$f" | md5sum | cut -c1-8)-$(basename "$f")"; done
fi
cp ../tests/data/fuzz/load/* ../tests/data/fuzz/plan/* seeds/load/
cp ../tests/data/fuzz/quantity/* seeds/quantity/
for q in 500m 2 1.5 .5 2. 1e3 1E3 2Gi 1.5Gi 128974848 129e6 123Mi 1k +3 -0 0.0001 1e-400 8Ei 1e19; do
  printf '%s' "$q" > "seeds/quantity/$(printf '%s' "$q" | md5sum | cut -c1-8)"
done
echo "seeds: $(ls seeds/load | wc -l) load, $(ls seeds/quantity | wc -l) quantity"
