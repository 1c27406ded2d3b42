import { sqliteFixture } from './fixtures.js';
import { defineApprovalStoreSuite } from './approval-suite.js';

defineApprovalStoreSuite('sqlite', sqliteFixture);
