/** Every route of the v1 contract, in the order the OpenAPI document lists them. */
import type { Route } from '../http/route.js';
import { credentialsRoute } from './credentials.js';
import { credentialsContainerRoute } from './credentialsContainer.js';
import { credentialsProcessRoute } from './credentialsProcess.js';
import { downloadsRoute } from './downloads.js';
import { healthRoute } from './health.js';
import { multipartAbortRoute } from './multipartAbort.js';
import { multipartCompleteRoute } from './multipartComplete.js';
import { multipartCreateRoute } from './multipartCreate.js';
import { multipartListRoute } from './multipartList.js';
import { multipartPartsRoute } from './multipartParts.js';
import { uploadsRoute } from './uploads.js';
import { whoamiRoute } from './whoami.js';

export const contractRoutes: ReadonlyArray<Route<any>> = [
  credentialsRoute,
  credentialsProcessRoute,
  credentialsContainerRoute,
  uploadsRoute,
  multipartCreateRoute,
  multipartPartsRoute,
  multipartListRoute,
  multipartCompleteRoute,
  multipartAbortRoute,
  downloadsRoute,
  whoamiRoute,
  healthRoute,
];
