/** The server the risk-rule tests assess a planned change for. */
export const RISK_CONTEXT = { fqdn: 'exch01.corp.example', computerName: 'EXCH01', monosyncServers: ['10.0.0.1'] };
