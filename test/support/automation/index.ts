/*
 * Executes Automation runbooks (schemaVersion 0.3) in tests. See interpreter.ts for the supported step types and
 * semantics, fake-aws.ts for programming the AWS answers.
 *
 *   const aws = new FakeAws().on('ssm', 'ListTagsForResource', { TagList: [{ Key: 'PatchMode', Value: 'enforce' }] });
 *   const result = runAutomation(parseRunbook(yamlText), { parameters: { NodeId: 'mi-0123456789abcdef0' }, aws });
 *   expect(result.status).toBe('Success');
 */
export * from './fake-aws';
export * from './interpreter';
export * from './json-path';
export * from './python-script';
export * from './yaml';
