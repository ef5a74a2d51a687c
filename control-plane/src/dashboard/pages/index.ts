// The dashboard's pages, one file each, as components of plain data: the routes (dashboard.routes.tsx) load
// it through the same services the API uses and pass it in; this is the one module they import pages from.
export { LoginPage } from './login.page.js';
export { FunctionsPage, type FunctionRowView } from './functions.page.js';
export { FunctionPage, type FunctionPageData } from './function.page.js';
export { AsyncCallPage, ExecutionPage } from './execution.page.js';
export { FleetPage } from './fleet.page.js';
export { AccountPage } from './account.page.js';
export { NotFoundPage } from './not-found.page.js';
export { AuditPage } from './audit.page.js';
export { AlertsPage, type AlertsPageData } from './alerts.page.js';
