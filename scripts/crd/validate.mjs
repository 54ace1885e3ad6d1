// Validate policies against their CRD schema: one JSON object a line on
// stdin; prints `N: <errors>` for each invalid one (N counts from 1) and
// `validated M` at the end. Run from the directory
// scripts/setup-crd-validators.sh prepares (it copies this file there).
import { createInterface } from "node:readline";
import { CiliumNetworkPolicy } from "@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy";
import { CiliumClusterwideNetworkPolicy } from "@kubernetes-models/cilium/cilium.io/v2/CiliumClusterwideNetworkPolicy";

const kinds = {
  "cilium.io/v2 CiliumNetworkPolicy": CiliumNetworkPolicy,
  "cilium.io/v2 CiliumClusterwideNetworkPolicy": CiliumClusterwideNetworkPolicy,
};

let count = 0;
let invalid = 0;
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  count += 1;
  const object = JSON.parse(line);
  const model = kinds[`${object.apiVersion} ${object.kind}`];
  if (!model) {
    console.log(`${count}: no schema for ${object.apiVersion} ${object.kind}`);
    invalid += 1;
    continue;
  }
  try {
    new model(object).validate();
  } catch (error) {
    console.log(`${count}: ${error.message}`);
    invalid += 1;
  }
}
console.log(`validated ${count}`);
process.exit(invalid > 0 ? 1 : 0);
