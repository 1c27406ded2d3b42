// The artifact kinds a policy rule can grant (docs/policy.md).
export const ARTIFACT_KINDS = ['detached', 'clearsign', 'rpm', 'yum', 'apt', 'pacman', 'sums', 'git'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];
