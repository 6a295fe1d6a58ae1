import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * The properties every data bucket of this library shares: retained on stack deletion, versioned, encrypted (SSE-KMS
 * with an S3 Bucket Key when a key is given, SSE-S3 otherwise), TLS 1.2+ only, public access blocked, ACLs disabled.
 * Callers add logging and lifecycle rules.
 */
export function retainedBucketProps(encryptionKey?: kms.IKey): s3.BucketProps {
  return {
    ...(encryptionKey
      ? { encryption: s3.BucketEncryption.KMS, encryptionKey, bucketKeyEnabled: true }
      : { encryption: s3.BucketEncryption.S3_MANAGED }),
    versioned: true,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.RETAIN,
  };
}
