import { postgresFixture, usePgCluster } from './fixtures.js';
import { defineApprovalStoreSuite } from './approval-suite.js';

const pgCluster = usePgCluster();
defineApprovalStoreSuite('postgres', () => postgresFixture(pgCluster()));
