// The policy pack: `pulumi preview --policy-pack ./policy` (after `npm install` in the repository).
import { PolicyPack } from "@pulumi/policy";
import { redisTlsPolicies } from "./policies";

new PolicyPack("redis-tls", { policies: redisTlsPolicies });
