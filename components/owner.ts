import * as pulumi from "@pulumi/pulumi";
import { shortHash } from "./pem";

/**
 * Who owns what a child command installs on a host: a hash of the parent component's URN and the
 * child's name. A renamed or re-parented replacement is another owner, so the old resource's delete
 * (which the engine runs after creating the new one) leaves the new one's files alone.
 *
 * The URN is taken as a plain value: an input that depends on the component itself would make each
 * child wait for all of the component's children, the others waiting for it in turn.
 */
export function ownerId(parent: pulumi.Resource, child: string): pulumi.Output<string> {
    return pulumi.output(new Promise<string>((resolve) => parent.urn.apply((urn) => resolve(shortHash(`${urn}/${child}`)))));
}
