import {
  DockerImageAssetLocation,
  DockerImageAssetSource,
  FileAssetLocation,
  FileAssetSource,
  ISynthesisSession,
  StackSynthesizer,
} from 'aws-cdk-lib';

/** An asset a construct of the template asked for: recorded, never shipped. */
export interface RecordedAsset {
  readonly kind: 'file' | 'Docker image';
  /** The asset's stack-relative construct path (aws-cdk-lib's display name) or, failing that, its file name. */
  readonly displayName: string;
  /** A placeholder, unique in the template, put where the asset's location would go. */
  readonly marker: string;
}

/** What the synthesizer calls on its stack once the template file is written. */
export interface StackSetTemplateHost {
  _registerTemplate(session: ISynthesisSession, templateHash: string, assets: readonly RecordedAsset[]): void;
}

/**
 * The synthesizer of a StackSet template stack: it writes the template into the cloud assembly but emits no stack
 * artifact (`cdk deploy` never deploys the template on its own) and lets the stack register the file as an asset of
 * its parent, as aws-cdk-lib does for nested stacks and Service Catalog product stacks. Children synthesize before
 * their parents, so the parent's template sees the asset.
 *
 * Assets of the template itself cannot travel: a StackSet deploys one template to accounts whose bootstrap buckets
 * it cannot fill. They are recorded with a placeholder location, and the stack fails synthesis naming them.
 */
export class StackSetTemplateSynthesizer extends StackSynthesizer {
  private readonly assets: RecordedAsset[] = [];

  public addFileAsset(asset: FileAssetSource): FileAssetLocation {
    const marker = this.record('file', asset.displayName ?? asset.fileName ?? asset.sourceHash);
    return {
      bucketName: marker,
      objectKey: `${asset.sourceHash}.zip`,
      httpUrl: `https://${marker}.s3.amazonaws.com/${asset.sourceHash}.zip`,
      s3ObjectUrl: `s3://${marker}/${asset.sourceHash}.zip`,
    };
  }

  public addDockerImageAsset(asset: DockerImageAssetSource): DockerImageAssetLocation {
    const marker = this.record('Docker image', asset.displayName ?? asset.directoryName ?? asset.sourceHash);
    return { repositoryName: marker, imageUri: `${marker}:${asset.sourceHash}` };
  }

  public synthesize(session: ISynthesisSession): void {
    const source = this.synthesizeTemplate(session);
    (this.boundStack as unknown as StackSetTemplateHost)._registerTemplate(session, source.sourceHash, this.assets);
  }

  private record(kind: RecordedAsset['kind'], displayName: string): string {
    // The trailing word keeps `-1-` from matching inside `-10-`.
    const marker = `stackset-asset-${this.assets.length + 1}-placeholder`;
    this.assets.push({ kind, displayName, marker });
    return marker;
  }
}
