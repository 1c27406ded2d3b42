// The artifact kinds a policy rule can grant (docs/policy.md).
export const ARTIFACT_KINDS = ['detached', 'clearsign', 'rpm', 'yum', 'apt', 'pacman', 'sums', 'git'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];
/** What a policy rule's `kinds` may list: every artifact kind, and `vet`, the separate grant to
 *  submit vetting records (docs/vetting.md). `vet` is no signature kind: no key signs it. */
export const POLICY_KINDS = [...ARTIFACT_KINDS, 'vet'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];
