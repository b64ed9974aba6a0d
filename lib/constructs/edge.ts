import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { requireIntegerIn } from '../require-integer-in';

export interface EdgeProps {
  /** The internal ALB in front of the APP tasks; CloudFront reaches it as a VPC origin. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /**
   * How CloudFront reaches the ALB: plain HTTP on 80 inside the VPC, or HTTPS on 443 checked
   * against `domainName`, which the ALB's certificate must cover.
   */
  readonly originProtocol: 'http' | 'https';
  /**
   * Public host name served by the distribution; needs `certificateArn`.
   * @default - none: the distribution's own https://<id>.cloudfront.net name
   */
  readonly domainName?: string;
  /**
   * ACM certificate for `domainName`. CloudFront takes certificates only from us-east-1.
   * @default - none
   */
  readonly certificateArn?: string;
  /**
   * How long CloudFront waits for the ALB's first byte. CloudFront's default is 30 s and its
   * maximum without a quota increase 60 s; up to 180 s after an approved increase.
   * @default ORIGIN_RESPONSE_TIMEOUT_S (60)
   */
  readonly originResponseTimeoutSeconds?: number;
}

/** The ALB listener port CloudFront's VPC origin connects to, per origin protocol. */
export const ORIGIN_HTTP_PORT = 80;
export const ORIGIN_HTTPS_PORT = 443;
/** CloudFront's origin response timeout ceiling without a quota increase. */
export const ORIGIN_RESPONSE_TIMEOUT_S = 60;
/** The hard ceiling of the origin response timeout, with an approved quota increase. */
const MAX_ORIGIN_RESPONSE_TIMEOUT_S = 180;

/**
 * HTTPS in front of the APP tier with no domain needed: a CloudFront distribution whose only
 * origin is the internal ALB, reached as a CloudFront VPC origin.
 *
 * Why a VPC origin and not the origin-facing prefix list plus a secret header: without a domain
 * there is no certificate the ALB could present that CloudFront accepts, so the origin leg is
 * plain HTTP. With a VPC origin that leg runs inside the VPC to an ALB that has no public
 * address at all; with the prefix list it would cross the internet in cleartext, secret header
 * and API keys included, and the prefix list's id is per region (a lookup, so no offline
 * synth). The VPC origin also needs no secret to rotate. With a domain and a regional
 * certificate for it on the ALB, the origin leg is HTTPS as well (`originProtocol` https).
 * aws-cdk-lib 2.276 has `origins.VpcOrigin.withApplicationLoadBalancer`.
 *
 * Nothing is cached: every method, header, cookie, query string and body reaches the APP, and
 * viewers on HTTP are redirected to HTTPS.
 */
export class Edge extends Construct {
  readonly distribution: cloudfront.Distribution;
  /** SLUICE_PUBLIC_URL: https://domainName, or https://<id>.cloudfront.net. */
  readonly publicUrl: string;
  readonly originResponseTimeoutSeconds: number;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const originResponseTimeoutSeconds =
      props.originResponseTimeoutSeconds ?? ORIGIN_RESPONSE_TIMEOUT_S;
    requireIntegerIn(
      'originResponseTimeoutSeconds',
      originResponseTimeoutSeconds,
      1,
      MAX_ORIGIN_RESPONSE_TIMEOUT_S,
    );
    if ((props.domainName === undefined) !== (props.certificateArn === undefined)) {
      throw new Error(
        `domainName and certificateArn go together (got domainName ${props.domainName ?? 'none'} and certificateArn ${props.certificateArn ?? 'none'})`,
      );
    }
    if (props.originProtocol === 'https' && props.domainName === undefined) {
      throw new Error(
        'an https origin needs a domainName for CloudFront to check the ALB certificate against (got none)',
      );
    }
    const certificateArn = props.certificateArn;
    if (
      certificateArn !== undefined &&
      !Token.isUnresolved(certificateArn) &&
      !/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/.+$/.test(certificateArn)
    ) {
      throw new Error(
        `certificateArn must be an ACM certificate in us-east-1, the only region CloudFront reads certificates from (got ${certificateArn})`,
      );
    }
    this.originResponseTimeoutSeconds = originResponseTimeoutSeconds;

    const origin = origins.VpcOrigin.withApplicationLoadBalancer(props.loadBalancer, {
      readTimeout: Duration.seconds(originResponseTimeoutSeconds),
      ...(props.originProtocol === 'https'
        ? {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            httpsPort: ORIGIN_HTTPS_PORT,
            originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
            // CloudFront sends this name as SNI and checks the ALB's certificate against it.
            domainName: props.domainName,
          }
        : {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
            httpPort: ORIGIN_HTTP_PORT,
          }),
    });
    const custom =
      props.domainName === undefined || certificateArn === undefined
        ? {}
        : {
            domainNames: [props.domainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          };
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Sluice API: HTTPS in front of the internal ALB',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        // Every viewer header (Host, Authorization, signature headers), cookie and query string.
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER,
        // Answers are the APP's own; CloudFront must not re-encode webhook replies.
        compress: false,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
      ...custom,
    });
    this.publicUrl =
      props.domainName === undefined
        ? `https://${this.distribution.distributionDomainName}`
        : `https://${props.domainName}`;

    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'Webhooks are called by services anywhere in the world; which countries may call is the platform team’s choice, not a default',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'Rate limiting and payload limits live in the APP; a WAF web ACL (billed per rule and request) can be attached to the distribution by the platform team',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'CloudFront standard logs need an ACL-enabled bucket, which the stack avoids; requests, 5xx and latency are on the ALB metrics, dashboard and alarms',
      },
    );
    if (props.domainName === undefined) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate has no minimum protocol setting; with domainName the distribution requires TLSv1.2_2021',
      });
    }
    if (props.originProtocol === 'http') {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR5',
        reason:
          'The origin leg is plain HTTP to an internal ALB through a CloudFront VPC origin: it never leaves the VPC; with domainName and originCertificateArn it is HTTPS',
      });
    }
  }
}
