import { definePolicyStoreSuite } from './policy-suite.js';
import { sqliteFixture } from './fixtures.js';

definePolicyStoreSuite('sqlite', sqliteFixture);
