import { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';

/** A template resource: its type and properties. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

/**
 * The resource of `template` that an attribute of `scope` (an ARN, a name or an id: a `Ref` or `Fn::GetAtt` token)
 * points at; throws when the attribute is not such a reference. Proves that an exposed construct is the resource
 * the template holds, which `toBeDefined()` on a typed property never could.
 */
export function resourceOf(template: Template, scope: IConstruct, attribute: string): TemplateResource {
  const resolved = Stack.of(scope).resolve(attribute);
  const id: unknown = resolved?.Ref ?? resolved?.['Fn::GetAtt']?.[0];
  const resource = typeof id === 'string' ? template.toJSON().Resources?.[id] : undefined;
  if (resource === undefined) throw new Error(`${JSON.stringify(resolved)} is not a reference to a resource of the template`);
  return resource;
}
