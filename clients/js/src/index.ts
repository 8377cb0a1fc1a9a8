export { createBrokerClient } from './client.js';
export type {
  BrokerClient,
  BrokerClientOptions,
  DownloadOptions,
  DownloadResult,
  UploadOptions,
  UploadResult,
} from './client.js';
export type { MultipartOptions, MultipartPartState, MultipartResult, MultipartState } from './multipart.js';
export { fromStsBroker } from './provider.js';
export { brokerUppy, brokerPartSize } from './uppy.js';
export type { BrokerAwsS3Options, BrokerUppy, BrokerUppyOptions, SavedUpload, StorageLike, UppyFileLike, UppyLike, UppySignedRequest, UppySignRequest } from './uppy.js';
export type { AwsCredentialIdentity, AwsCredentialIdentityProvider, FromStsBrokerOptions, StsBrokerCredentialProvider, StsBrokerCredentials } from './provider.js';
export { BrokerError, ChecksumUnavailableError, S3Error, S3UploadError, type BrokerErrorCodeOrUnexpected } from './errors.js';
export type { RetryOptions } from './retry.js';
export type { BrokerAuth, FetchLike } from './transport.js';
export type { UploadBody } from './s3.js';
export { computeChecksum, type ChecksumAlgorithm, type IntegrityOption } from './checksum.js';
export { BROKER_ERROR_CODES, ERROR_CODE_STATUS, type BrokerErrorCode } from './generated/contract.js';
export type * from './generated/contract.js';
